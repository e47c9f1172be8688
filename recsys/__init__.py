"""recsys: click logs to served recommendations (Spark, gensim, implicit, FAISS, FastAPI)."""

from recsys import cuda

__version__ = "0.1.0"

cuda.preload()  # before anything imports implicit, whose CUDA extension needs these libraries already loaded
