"""One module per lecture claim (``cNN_topic.py``); each registers an experiment on import."""
