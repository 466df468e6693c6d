"""Observables: conductivity, spin density, torkance, FL/DL torques, AMR."""
