"""Pure array kernels: Green's functions, energy integrals, Kubo-Bastin integrands."""
