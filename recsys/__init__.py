"""recsys: click logs to served recommendations (Spark, gensim, implicit, FAISS, FastAPI)."""

__version__ = "0.1.0"
