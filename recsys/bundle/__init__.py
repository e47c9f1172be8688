"""A published bundle read back for answering: what the service serves and the batch jobs (jobs/challenge.py)
answer from. reader.py reads a playlist bundle (id maps, metadata, every model the registry loads, their FAISS
indexes), images.py an image bundle; search.py is the find-as-you-type index over ids and metadata."""
