/* Pump2: an FMI 2.0 co-simulation FMU of a pump with a stateful integrator.
 *     flow = k * speed                  (m3/h; direct feedthrough: updated as soon as speed is set)
 *     volume(t + h) = volume(t) + k * speed * h / 3600   (m3; h in s, speed as set before the step)
 * Exact for piecewise-constant speed: after steps of sizes h_i with speeds s_i,
 * volume = volume(0) + sum k s_i h_i / 3600 (to rounding).
 *
 * Variables (value reference, causality, type, start):
 *   speed   1  input (settable at any communication point)        Real  0     rpm
 *   k       2  parameter (fixed)                                   Real  0.01  m3/h per rpm
 *   flow    3  output (initial="calculated", never settable)       Real  -     m3/h
 *   volume  4  output (initial="exact", settable before init)      Real  0     m3 */
#include <stddef.h>

#include "fmu2_frame.h"

#define MODEL_GUID "{5c6d2a1e-8a4b-4d0e-9b1f-2b7d0c9e1a04}"

typedef struct {
  double speed, k, flow, volume;
} ModelData;

static const Fmu2Var kVars[] = {
    {"speed", 1, kReal, kInput, offsetof(ModelData, speed), NULL},
    {"k", 2, kReal, kParameter, offsetof(ModelData, k), NULL},
    {"flow", 3, kReal, kCalculated, offsetof(ModelData, flow), NULL},
    {"volume", 4, kReal, kExact, offsetof(ModelData, volume), NULL},
};

static void model_start(Fmu* fmu, ModelData* m) {
  (void)fmu;
  m->speed = 0.0;
  m->k = 0.01;
  m->flow = 0.0;
  m->volume = 0.0;
}

static fmi2Status model_check(Fmu* fmu, ModelData* m) {
  (void)fmu;
  (void)m;
  return fmi2OK;
}

static void model_init(Fmu* fmu, ModelData* m) {
  (void)fmu;
  m->flow = m->k * m->speed;
}

static fmi2Status model_step(Fmu* fmu, ModelData* m, double t, double h) {
  (void)fmu;
  (void)t;
  m->volume += m->k * m->speed * h / 3600.0;
  m->flow = m->k * m->speed;
  return fmi2OK;
}

static void model_inputs_changed(Fmu* fmu, ModelData* m) {
  (void)fmu;
  m->flow = m->k * m->speed;
}

#include "fmu2_frame_impl.h"
