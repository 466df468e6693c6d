"""k-space quadrature with error estimates."""
