/* The exact physics of the bouncing-ball test FMUs (BouncingBall2 and BouncingBall3).
 *
 * State: height h (m), velocity v (m/s, upwards positive), a rest flag. Parameters: gravity
 * g > 0 (m/s^2), coefficient of restitution 0 <= e <= 1.
 *
 * Between impacts the flight is ballistic and integrated in closed form:
 *     h(t0 + s) = h0 + v0 s - g s^2 / 2,    v(t0 + s) = v0 - g s.
 * The impact time within a step is the positive root of h(t0 + s) = 0:
 *     s* = (v0 + sqrt(v0^2 + 2 g max(h0, 0))) / g.
 * At an impact h = 0 exactly and the velocity becomes  v+ = e * sqrt(v0^2 + 2 g h0)  (the
 * impact speed from energy conservation, reversed and scaled by e). A step may contain any
 * number of impacts; each one is handled at its exact time.
 * Rest: if the velocity right after an impact v+ is below BALL_REST_SPEED = 1e-3 m/s, the ball
 * stays at rest from then on: h = 0, v = 0 for all later times (also when it starts at h = 0,
 * v <= 0).
 *
 * Consequences for h(0) = h0 > 0, v(0) = 0: the first impact is at t1 = sqrt(2 h0 / g); right
 * after it v = e sqrt(2 g h0); the next apex is at t1 + e sqrt(2 h0 / g) with height e^2 h0;
 * the k-th impact (k >= 1) is at t1 (1 + 2 e + 2 e^2 + ... + 2 e^(k-1)). With the defaults
 * (h0 = 1, g = 9.81, e = 0.7) the ball comes to rest after 24 impacts, at about t = 2.56 s.
 * Results match these formulas to rounding (1e-12 relative per step). */
#ifndef DOPPEL_TEST_BOUNCING_BALL_H
#define DOPPEL_TEST_BOUNCING_BALL_H

#include <math.h>

#define BALL_REST_SPEED 1e-3

/* Advances (h, v, resting) by dt >= 0 seconds. */
static void ball_advance(double* h, double* v, int* resting, double g, double e, double dt) {
  double remaining = dt;
  int impacts = 0;
  while (!*resting) {
    double h0 = *h > 0.0 ? *h : 0.0;
    double v0 = *v;
    double speed = sqrt(v0 * v0 + 2.0 * g * h0); /* the speed at the next impact */
    double s = (v0 + speed) / g;                 /* time to the next impact */
    if (s < 0.0) s = 0.0;
    if (s > remaining) {
      *h = h0 + v0 * remaining - 0.5 * g * remaining * remaining;
      *v = v0 - g * remaining;
      return;
    }
    remaining -= s;
    *h = 0.0;
    *v = e * speed;
    if (*v < BALL_REST_SPEED || ++impacts > 1000000) {
      *resting = 1;
    }
  }
  *h = 0.0;
  *v = 0.0;
}

#endif
