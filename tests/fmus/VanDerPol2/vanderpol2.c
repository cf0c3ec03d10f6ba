/* VanDerPol2: an FMI 2.0 co-simulation FMU of the Van der Pol oscillator
 *     x0' = x1,    x1' = mu (1 - x0^2) x1 - x0,
 * integrated with classical RK4 in sub-steps of at most 1e-4 s (../common/van_der_pol.h).
 *
 * Variables (value reference, causality, type, start):
 *   x0  1  output (initial="exact", settable before initialization)  Real  2
 *   x1  2  output (initial="exact", settable before initialization)  Real  0
 *   mu  3  parameter (fixed)                                          Real  1 */
#include <stddef.h>

#include "fmu2_frame.h"

#include "van_der_pol.h"

#define MODEL_GUID "{5c6d2a1e-8a4b-4d0e-9b1f-2b7d0c9e1a02}"

typedef struct {
  double x[2];
  double mu;
} ModelData;

static const Fmu2Var kVars[] = {
    {"x0", 1, kReal, kExact, offsetof(ModelData, x), NULL},
    {"x1", 2, kReal, kExact, offsetof(ModelData, x) + sizeof(double), NULL},
    {"mu", 3, kReal, kParameter, offsetof(ModelData, mu), NULL},
};

static void model_start(Fmu* fmu, ModelData* m) {
  (void)fmu;
  m->x[0] = 2.0;
  m->x[1] = 0.0;
  m->mu = 1.0;
}

static fmi2Status model_check(Fmu* fmu, ModelData* m) {
  (void)fmu;
  (void)m;
  return fmi2OK;
}

static void model_init(Fmu* fmu, ModelData* m) {
  (void)fmu;
  (void)m;
}

static fmi2Status model_step(Fmu* fmu, ModelData* m, double t, double h) {
  (void)fmu;
  (void)t;
  vdp_advance(m->x, m->mu, h);
  return fmi2OK;
}

static void model_inputs_changed(Fmu* fmu, ModelData* m) {
  (void)fmu;
  (void)m;
}

#include "fmu2_frame_impl.h"
