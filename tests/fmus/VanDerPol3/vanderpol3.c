/* VanDerPol3: the FMI 3.0 co-simulation version of VanDerPol2, the Van der Pol oscillator
 *     x0' = x1,    x1' = mu (1 - x0^2) x1 - x0,
 * integrated with classical RK4 in sub-steps of at most 1e-4 s (../common/van_der_pol.h).
 *
 * Variables (value reference, causality, type, start):
 *   time  0  independent                                               Float64  -
 *   x0    1  output (initial="exact", settable before initialization)  Float64  2
 *   x1    2  output (initial="exact", settable before initialization)  Float64  0
 *   mu    3  parameter (fixed)                                          Float64  1 */
#include <stddef.h>

#include "fmu3_frame.h"

#include "van_der_pol.h"

#define MODEL_TOKEN "{5c6d2a1e-8a4b-4d0e-9b1f-2b7d0c9e1a33}"

typedef struct {
  double x[2];
  double mu;
} ModelData;

static const Fmu3Var kVars[] = {
    {"time", 0, kFloat64, kIndependent, 0, 1, NULL},
    {"x0", 1, kFloat64, kExact, offsetof(ModelData, x), 1, NULL},
    {"x1", 2, kFloat64, kExact, offsetof(ModelData, x) + sizeof(double), 1, NULL},
    {"mu", 3, kFloat64, kParameter, offsetof(ModelData, mu), 1, NULL},
};

static void model_start(Fmu* fmu, ModelData* m) {
  (void)fmu;
  m->x[0] = 2.0;
  m->x[1] = 0.0;
  m->mu = 1.0;
}

static fmi3Status model_check(Fmu* fmu, ModelData* m) {
  (void)fmu;
  (void)m;
  return fmi3OK;
}

static void model_init(Fmu* fmu, ModelData* m) {
  (void)fmu;
  (void)m;
}

static fmi3Status model_step(Fmu* fmu, ModelData* m, double t, double h) {
  (void)fmu;
  (void)t;
  vdp_advance(m->x, m->mu, h);
  return fmi3OK;
}

static void model_inputs_changed(Fmu* fmu, ModelData* m) {
  (void)fmu;
  (void)m;
}

#include "fmu3_frame_impl.h"
