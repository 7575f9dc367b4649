"""The binary RBM's fast paths: fused torch steps and native CPU kernels."""
