/* The Van der Pol oscillator of the VanDerPol2 and VanDerPol3 test FMUs:
 *     x0' = x1,    x1' = mu (1 - x0^2) x1 - x0.
 * One communication step of length dt is integrated with the classical 4th-order Runge-Kutta
 * method in n = max(1, ceil(dt / 1e-4 - 1e-9)) equal sub-steps of dt / n (so at most 1e-4 s
 * each). For mu = 1, x(0) = (2, 0) the global error over 10 s is below 1e-10. */
#ifndef DOPPEL_TEST_VAN_DER_POL_H
#define DOPPEL_TEST_VAN_DER_POL_H

#include <math.h>

#define VDP_MAX_SUBSTEP 1e-4

static void vdp_rhs(double mu, const double x[2], double dx[2]) {
  dx[0] = x[1];
  dx[1] = mu * (1.0 - x[0] * x[0]) * x[1] - x[0];
}

static void vdp_advance(double x[2], double mu, double dt) {
  double n = ceil(dt / VDP_MAX_SUBSTEP - 1e-9);
  long steps = n < 1.0 ? 1 : (long)n;
  double h = dt / (double)steps;
  long i;
  for (i = 0; i < steps; ++i) {
    double k1[2], k2[2], k3[2], k4[2], y[2];
    vdp_rhs(mu, x, k1);
    y[0] = x[0] + 0.5 * h * k1[0];
    y[1] = x[1] + 0.5 * h * k1[1];
    vdp_rhs(mu, y, k2);
    y[0] = x[0] + 0.5 * h * k2[0];
    y[1] = x[1] + 0.5 * h * k2[1];
    vdp_rhs(mu, y, k3);
    y[0] = x[0] + h * k3[0];
    y[1] = x[1] + h * k3[1];
    vdp_rhs(mu, y, k4);
    x[0] += h / 6.0 * (k1[0] + 2.0 * k2[0] + 2.0 * k3[0] + k4[0]);
    x[1] += h / 6.0 * (k1[1] + 2.0 * k2[1] + 2.0 * k3[1] + k4[1]);
  }
}

#endif
