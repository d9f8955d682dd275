import mmpretrain.visualization  # noqa: F401  (fills the parent registry: mcl_mm scopes resolve mmpretrain types)

# mcl_mm adds no visualizers of its own; mmpretrain's resolve through the parent registry.
