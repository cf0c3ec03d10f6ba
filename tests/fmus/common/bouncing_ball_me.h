/* The bouncing ball as a model-exchange model (BouncingBallME2 and BouncingBallME3): the
 * importer integrates it and finds the impacts from the event indicator.
 *
 * Variables (value reference, FMI 2 index, causality, start):
 *   h            1  1  output, state (initial="exact")   1     m
 *   der_h        2  2  local, derivative of h              -     m/s
 *   v            3  3  output, state (initial="exact")   0     m/s
 *   der_v        4  4  local, derivative of v              -     m/s2
 *   g            5  5  parameter                           9.81  m/s2
 *   e            6  6  parameter                           0.7   1
 *   bounces      7  7  output (discrete)                   0     the impacts so far
 *   max_bounces  8  8  parameter                           0     > 0: ask to terminate at that impact
 *   z            9  9  local, the event indicator          -     m
 *   crash_at     10 10 parameter                           0     > 0: crash the process (SIGSEGV)
 *                                                                 at that impact
 * FMI 3 adds time (value reference 0).
 *
 * Flight: h' = v, v' = -g. Event indicator z = h (1 once at rest). At a state event with
 * h <= 1e-9 and v < 0 (the ball reached the floor going down): h = 0, v = -e v, bounces + 1;
 * if the new v is below BALL_ME_REST_SPEED the ball rests (h = v = 0, no derivatives). With
 * max_bounces > 0 the FMU asks to terminate at that impact. So from h(0) = h0, v(0) = 0 the
 * impacts are at t1 = sqrt(2 h0 / g), then t1 (1 + 2 e + ... + 2 e^(k-1)), as for the
 * co-simulation ball (bouncing_ball.h), up to the importer's accuracy. Exit of initialization
 * fails unless g > 0, 0 <= e <= 1, h >= 0. */
#ifndef DOPPEL_TEST_BOUNCING_BALL_ME_H
#define DOPPEL_TEST_BOUNCING_BALL_ME_H

#include <signal.h>
#include <stddef.h>
#include <stdlib.h>

#define ME_NX 2
#define ME_NZ 1
#define BALL_ME_REST_SPEED 1e-3

typedef struct {
  double h, der_h, v, der_v, g, e, bounces, max_bounces, z, crash_at;
  int resting;
} ModelData;

static const MeVar kVars[] = {
    {"h", 1, kMeExact, offsetof(ModelData, h)},
    {"der_h", 2, kMeCalculated, offsetof(ModelData, der_h)},
    {"v", 3, kMeExact, offsetof(ModelData, v)},
    {"der_v", 4, kMeCalculated, offsetof(ModelData, der_v)},
    {"g", 5, kMeParameter, offsetof(ModelData, g)},
    {"e", 6, kMeParameter, offsetof(ModelData, e)},
    {"bounces", 7, kMeCalculated, offsetof(ModelData, bounces)},
    {"max_bounces", 8, kMeParameter, offsetof(ModelData, max_bounces)},
    {"z", 9, kMeCalculated, offsetof(ModelData, z)},
    {"crash_at", 10, kMeParameter, offsetof(ModelData, crash_at)},
};

static void model_start(ModelData* m) {
  m->h = 1.0;
  m->v = 0.0;
  m->g = 9.81;
  m->e = 0.7;
  m->bounces = 0;
  m->max_bounces = 0;
  m->crash_at = 0;
  m->resting = 0;
}

static const char* model_check(const ModelData* m) {
  if (!(m->g > 0.0)) return "g must be > 0";
  if (!(m->e >= 0.0 && m->e <= 1.0)) return "e must be in [0, 1]";
  if (!(m->h >= 0.0)) return "h must be >= 0";
  return NULL;
}

static void model_init(ModelData* m, double t) {
  (void)t;
  m->resting = 0;
  m->bounces = 0;
}

static void model_get_states(const ModelData* m, double x[]) {
  x[0] = m->h;
  x[1] = m->v;
}

static void model_set_states(ModelData* m, const double x[]) {
  m->h = x[0];
  m->v = x[1];
}

static void model_derivatives(ModelData* m, double t, double dx[]) {
  (void)t;
  m->der_h = m->resting ? 0.0 : m->v;
  m->der_v = m->resting ? 0.0 : -m->g;
  dx[0] = m->der_h;
  dx[1] = m->der_v;
}

static void model_indicators(const ModelData* m, double t, double z[]) {
  (void)t;
  z[0] = m->resting ? 1.0 : m->h;
}

static void model_event(ModelData* m, double t, int* states_changed, int* terminate, double* next_time) {
  (void)t;
  if (!m->resting && m->h <= 1e-9 && m->v < 0.0) {
    m->h = 0.0;
    m->v = -m->e * m->v;
    m->bounces += 1;
    if (m->v < BALL_ME_REST_SPEED) {
      m->resting = 1;
      m->v = 0.0;
    }
    *states_changed = 1;
  }
  m->z = m->resting ? 1.0 : m->h;
  if (m->max_bounces > 0 && m->bounces >= m->max_bounces) *terminate = 1;
  if (m->crash_at > 0 && m->bounces >= m->crash_at) {
    volatile int* volatile target = NULL;
    *target = 42;
    raise(SIGSEGV);
    abort();
  }
  *next_time = -1;
}

#endif
