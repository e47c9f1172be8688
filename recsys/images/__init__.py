"""Images through the playlist pipeline: decode safely, embed with a frozen ImageNet CNN, index, classify."""
