"""Optional fast paths that take over a step of a generic algorithm when they recognise it."""
