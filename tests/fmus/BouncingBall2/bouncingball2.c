/* BouncingBall2: an FMI 2.0 co-simulation FMU of a ball bouncing on the floor, integrated
 * exactly (see ../common/bouncing_ball.h for the physics and the formulas tests may rely on).
 *
 * Variables (value reference, causality, type, start):
 *   h  1  output (initial="exact", settable before initialization)  Real  1     m
 *   v  2  output (initial="exact", settable before initialization)  Real  0     m/s
 *   g  3  parameter (fixed)                                          Real  9.81  m/s2
 *   e  4  parameter (fixed)                                          Real  0.7   1
 * fmi2ExitInitializationMode fails (fmi2Error, logged) unless g > 0, 0 <= e <= 1 and h >= 0. */
#include <stddef.h>

#include "fmu2_frame.h"

#include "bouncing_ball.h"

#define MODEL_GUID "{5c6d2a1e-8a4b-4d0e-9b1f-2b7d0c9e1a01}"

typedef struct {
  double h, v, g, e;
  int resting;
} ModelData;

static const Fmu2Var kVars[] = {
    {"h", 1, kReal, kExact, offsetof(ModelData, h), NULL},
    {"v", 2, kReal, kExact, offsetof(ModelData, v), NULL},
    {"g", 3, kReal, kParameter, offsetof(ModelData, g), NULL},
    {"e", 4, kReal, kParameter, offsetof(ModelData, e), NULL},
};

static void model_start(Fmu* fmu, ModelData* m) {
  (void)fmu;
  m->h = 1.0;
  m->v = 0.0;
  m->g = 9.81;
  m->e = 0.7;
  m->resting = 0;
}

static fmi2Status model_check(Fmu* fmu, ModelData* m) {
  if (!(m->g > 0.0) || !(m->e >= 0.0 && m->e <= 1.0) || !(m->h >= 0.0)) {
    fmu_log(fmu, fmi2Error, "logStatusError",
            "invalid start values: need g > 0 (is %g), 0 <= e <= 1 (is %g), h >= 0 (is %g)", m->g, m->e, m->h);
    return fmi2Error;
  }
  return fmi2OK;
}

static void model_init(Fmu* fmu, ModelData* m) {
  (void)fmu;
  m->resting = 0;
}

static fmi2Status model_step(Fmu* fmu, ModelData* m, double t, double h) {
  (void)fmu;
  (void)t;
  ball_advance(&m->h, &m->v, &m->resting, m->g, m->e, h);
  return fmi2OK;
}

static void model_inputs_changed(Fmu* fmu, ModelData* m) {
  (void)fmu;
  (void)m;
}

#include "fmu2_frame_impl.h"
