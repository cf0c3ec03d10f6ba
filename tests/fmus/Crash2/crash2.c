/* Crash2: an FMI 2.0 co-simulation FMU whose output x is the time, and which crashes the process (SIGSEGV: a write
 * through a null pointer; raise(SIGSEGV) and abort() as fallbacks) in the first fmi2DoStep from t to t + h with t + h
 * >= t_fail - 1e-9 (t_fail = 0.5 by default). The steps before it succeed (x = t + h after each); with steps of 0.1
 * from 0 the step 0.4 -> 0.5 is the one that crashes.
 *
 * Variables (value reference, causality, type, start):
 *   x       1  output (initial="calculated", never settable)  Real  -  (= time)  s
 *   t_fail  2  parameter (fixed)                               Real  0.5         s */
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>

#include "fmu2_frame.h"

#define MODEL_GUID "{5c6d2a1e-8a4b-4d0e-9b1f-2b7d0c9e1a07}"

typedef struct {
  double x, t_fail;
} ModelData;

static const Fmu2Var kVars[] = {
    {"x", 1, kReal, kCalculated, offsetof(ModelData, x), NULL},
    {"t_fail", 2, kReal, kParameter, offsetof(ModelData, t_fail), NULL},
};

static void model_start(Fmu* fmu, ModelData* m) {
  (void)fmu;
  m->x = 0.0;
  m->t_fail = 0.5;
}

static fmi2Status model_check(Fmu* fmu, ModelData* m) {
  (void)fmu;
  (void)m;
  return fmi2OK;
}

static void model_init(Fmu* fmu, ModelData* m) { m->x = fmu_time(fmu); }

static fmi2Status model_step(Fmu* fmu, ModelData* m, double t, double h) {
  if (t + h >= m->t_fail - 1e-9) {
    volatile int* volatile target = NULL;
    (void)fmu;
    *target = 42;
    raise(SIGSEGV);
    abort();
  }
  m->x = t + h;
  return fmi2OK;
}

static void model_inputs_changed(Fmu* fmu, ModelData* m) {
  (void)fmu;
  (void)m;
}

#include "fmu2_frame_impl.h"
