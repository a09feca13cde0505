"""Tables and the stores that read and write them."""
