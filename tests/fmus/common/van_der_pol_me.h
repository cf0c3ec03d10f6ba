/* The Van der Pol oscillator as a model-exchange model (VanDerPolME2 and VanDerPolME3), with
 * a clock that ticks by time events:
 *     x0' = x1,    x1' = mu (1 - x0^2) x1 - x0,
 *     ticks = the number of k >= 1 with start + k period <= t (period > 0; 0: no ticks).
 *
 * Variables (value reference, FMI 2 index, causality, start):
 *   x0      1  1  output, state (initial="exact")  2
 *   der_x0  2  2  local, derivative of x0           -
 *   x1      3  3  output, state (initial="exact")  0
 *   der_x1  4  4  local, derivative of x1           -
 *   mu      5  5  parameter                          1
 *   period  6  6  parameter                          0.25 s
 *   ticks   7  7  output (discrete)                  0
 * FMI 3 adds time (value reference 0). No event indicators: the ticks are time events
 * (nextEventTime), and the frame refuses a time set past the next one (the importer must stop
 * there). With mu = 0 it is the harmonic oscillator x0 = 2 cos t, x1 = -2 sin t. */
#ifndef DOPPEL_TEST_VAN_DER_POL_ME_H
#define DOPPEL_TEST_VAN_DER_POL_ME_H

#include <stddef.h>

#define ME_NX 2
#define ME_NZ 0

typedef struct {
  double x0, der_x0, x1, der_x1, mu, period, ticks;
  double start, next_tick; /* next_tick < 0: none */
} ModelData;

static const MeVar kVars[] = {
    {"x0", 1, kMeExact, offsetof(ModelData, x0)},
    {"der_x0", 2, kMeCalculated, offsetof(ModelData, der_x0)},
    {"x1", 3, kMeExact, offsetof(ModelData, x1)},
    {"der_x1", 4, kMeCalculated, offsetof(ModelData, der_x1)},
    {"mu", 5, kMeParameter, offsetof(ModelData, mu)},
    {"period", 6, kMeParameter, offsetof(ModelData, period)},
    {"ticks", 7, kMeCalculated, offsetof(ModelData, ticks)},
};

static void model_start(ModelData* m) {
  m->x0 = 2.0;
  m->x1 = 0.0;
  m->mu = 1.0;
  m->period = 0.25;
  m->ticks = 0;
  m->next_tick = -1;
}

static const char* model_check(const ModelData* m) {
  if (!(m->period >= 0.0)) return "period must be >= 0";
  return NULL;
}

static void model_init(ModelData* m, double t) {
  m->ticks = 0;
  m->start = t;
  m->next_tick = m->period > 0.0 ? t + m->period : -1.0;
}

static void model_get_states(const ModelData* m, double x[]) {
  x[0] = m->x0;
  x[1] = m->x1;
}

static void model_set_states(ModelData* m, const double x[]) {
  m->x0 = x[0];
  m->x1 = x[1];
}

static void model_derivatives(ModelData* m, double t, double dx[]) {
  (void)t;
  m->der_x0 = m->x1;
  m->der_x1 = m->mu * (1.0 - m->x0 * m->x0) * m->x1 - m->x0;
  dx[0] = m->der_x0;
  dx[1] = m->der_x1;
}

static void model_indicators(const ModelData* m, double t, double z[]) {
  (void)m;
  (void)t;
  (void)z;
}

static void model_event(ModelData* m, double t, int* states_changed, int* terminate, double* next_time) {
  (void)states_changed;
  (void)terminate;
  if (m->next_tick >= 0.0 && t >= m->next_tick - 1e-9) {
    m->ticks += 1;
    /* From the start, not by adding up periods: no drift. */
    m->next_tick = m->start + (m->ticks + 1.0) * m->period;
  }
  *next_time = m->next_tick;
}

#endif
