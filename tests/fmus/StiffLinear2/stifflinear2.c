/* StiffLinear2: an FMI 2.0 co-simulation FMU of a stiff linear system
 *     x1' = -x1,    x2' = -k (x2 - x1),    x1(0) = 1, x2(0) = 0, k = 1000,
 * whose solution from the start values is
 *     x1(t) = e^-t,    x2(t) = k / (k - 1) (e^-t - e^-kt)    (k != 1; for k = 1: x2 = t e^-t).
 *
 * Each communication step t -> t + h is the exact solution of the linear system (the matrix
 * exponential of the 2x2 system in closed form):
 *     x1(t + h) = x1 e^-h
 *     x2(t + h) = x2 e^-kh + k x1 e^-h (1 - e^-(k-1)h) / (k - 1)   (k = 1: x2 e^-h + x1 h e^-h)
 * with 1 - e^-(k-1)h computed as -expm1(-(k-1)h). So the only error is floating-point rounding:
 * any step sizes (large steps included, no stability limit) match the closed form to 1e-12
 * absolute over t in [0, 10] for x(0) = (1, 0).
 *
 * Variables (value reference, causality, type, start):
 *   x1  1  output (initial="exact", settable before initialization)  Real  1
 *   x2  2  output (initial="exact", settable before initialization)  Real  0
 *   k   3  parameter (fixed)                                          Real  1000 */
#include <math.h>
#include <stddef.h>

#include "fmu2_frame.h"

#define MODEL_GUID "{5c6d2a1e-8a4b-4d0e-9b1f-2b7d0c9e1a03}"

typedef struct {
  double x1, x2, k;
} ModelData;

static const Fmu2Var kVars[] = {
    {"x1", 1, kReal, kExact, offsetof(ModelData, x1), NULL},
    {"x2", 2, kReal, kExact, offsetof(ModelData, x2), NULL},
    {"k", 3, kReal, kParameter, offsetof(ModelData, k), NULL},
};

static void model_start(Fmu* fmu, ModelData* m) {
  (void)fmu;
  m->x1 = 1.0;
  m->x2 = 0.0;
  m->k = 1000.0;
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
  double k = m->k;
  double decay1 = exp(-h);
  /* (1 - e^-(k-1)h) / (k - 1), which tends to h as k -> 1 */
  double factor = k == 1.0 ? h : -expm1(-(k - 1.0) * h) / (k - 1.0);
  double x1 = m->x1;
  (void)fmu;
  (void)t;
  m->x1 = x1 * decay1;
  m->x2 = m->x2 * exp(-k * h) + k * x1 * decay1 * factor;
  return fmi2OK;
}

static void model_inputs_changed(Fmu* fmu, ModelData* m) {
  (void)fmu;
  (void)m;
}

#include "fmu2_frame_impl.h"
