"""Input files on any Hadoop-compatible filesystem (file:, hdfs:, s3a:, plain local paths), listed through Spark.

The driver asks Hadoop's FileSystem API through the session's JVM, so the same code sees a local folder, an HDFS
directory or an S3 prefix, with the credentials and settings Spark itself was given.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pyspark.sql import SparkSession


@dataclass(frozen=True)
class InputFile:
    name: str  # relative to the listed path (the file's own name when a single file was listed)
    size: int
    modified_ms: int


def _root(spark: SparkSession, uri: str) -> tuple[object, object, object]:
    """Hadoop's (filesystem, path, status) of ``uri``; FileNotFoundError naming it where there is nothing."""
    jvm, conf = spark.sparkContext._jvm, spark.sparkContext._jsc.hadoopConfiguration()
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(conf)
    if not fs.exists(path):
        raise FileNotFoundError(f"input {uri} does not exist")
    return fs, path, fs.getFileStatus(path)


def folder_prefix(spark: SparkSession, uri: str) -> str:
    """What comes before a file's name relative to the folder ``uri`` in the paths Hadoop lists and Spark's file
    sources report (``file:/data/images/`` for ``data/images``): the folder as given, symbolic links kept."""
    return _root(spark, uri)[2].getPath().toString().rstrip("/") + "/"


def list_files(spark: SparkSession, uri: str) -> list[InputFile]:
    """Every file under ``uri`` (recursively), or ``uri`` itself when it is a file; sorted by name."""
    fs, path, root = _root(spark, uri)
    prefix = root.getPath().toString().rstrip("/") + "/"
    found = fs.listFiles(path, True)
    files = []
    while found.hasNext():
        status = found.next()
        full = status.getPath().toString()
        name = full[len(prefix) :] if root.isDirectory() else status.getPath().getName()
        files.append(InputFile(name, status.getLen(), status.getModificationTime()))
    return sorted(files, key=lambda f: f.name)


def fingerprint(files: list[InputFile]) -> str:
    """sha256 over the files' names, sizes and modification times: cheap at any size, changes when input does."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.name}:{file.size}:{file.modified_ms}\n".encode())
    return digest.hexdigest()


def is_parquet(files: list[InputFile]) -> bool:
    """A Parquet input: a .parquet file, or a folder whose data files are Parquet part files."""
    return any(f.name.endswith(".parquet") for f in files)
