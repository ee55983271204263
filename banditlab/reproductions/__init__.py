"""One module per paper reproduction; each defines ``REPRODUCTION`` (see banditlab.reproduce)."""
