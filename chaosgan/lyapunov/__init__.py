"""Lyapunov exponents: from the equations (QR method) and from data (Rosenstein, Eckmann)."""
