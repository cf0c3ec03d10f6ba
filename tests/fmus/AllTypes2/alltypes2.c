/* AllTypes2: an FMI 2.0 co-simulation FMU with an input and an echoing output of every FMI 2.0
 * type. Each output equals its input at the start (the start values), after
 * fmi2ExitInitializationMode and after every fmi2DoStep; setting an input changes its output
 * only at the next of those points. The enumeration (type Color: Red = 1, Green = 2, Blue = 3)
 * is read and written through fmi2GetInteger/fmi2SetInteger; any integer is accepted and echoed.
 * Strings of any length are copied (the FMU owns its copies; a returned string stays valid
 * until the next call on the instance). Integer range: INT32_MIN .. INT32_MAX.
 *
 * Variables (value reference, causality, type, start):
 *   real_in     1  input   Real         0.5       real_out    2  output (calculated)  Real
 *   int_in      3  input   Integer      3         int_out     4  output (calculated)  Integer
 *   bool_in     5  input   Boolean      true      bool_out    6  output (calculated)  Boolean
 *   string_in   7  input   String       "hello"   string_out  8  output (calculated)  String
 *   enum_in     9  input   Enumeration  2 (Green) enum_out   10  output (calculated)  Enumeration */
#include <stddef.h>

#include "fmu2_frame.h"

#define MODEL_GUID "{5c6d2a1e-8a4b-4d0e-9b1f-2b7d0c9e1a05}"

typedef struct {
  double real_in, real_out;
  int int_in, int_out;
  int bool_in, bool_out;
  char *string_in, *string_out;
  int enum_in, enum_out;
} ModelData;

static const Fmu2Var kVars[] = {
    {"real_in", 1, kReal, kInput, offsetof(ModelData, real_in), NULL},
    {"real_out", 2, kReal, kCalculated, offsetof(ModelData, real_out), NULL},
    {"int_in", 3, kInteger, kInput, offsetof(ModelData, int_in), NULL},
    {"int_out", 4, kInteger, kCalculated, offsetof(ModelData, int_out), NULL},
    {"bool_in", 5, kBoolean, kInput, offsetof(ModelData, bool_in), NULL},
    {"bool_out", 6, kBoolean, kCalculated, offsetof(ModelData, bool_out), NULL},
    {"string_in", 7, kString, kInput, offsetof(ModelData, string_in), "hello"},
    {"string_out", 8, kString, kCalculated, offsetof(ModelData, string_out), "hello"},
    {"enum_in", 9, kInteger, kInput, offsetof(ModelData, enum_in), NULL},
    {"enum_out", 10, kInteger, kCalculated, offsetof(ModelData, enum_out), NULL},
};

static void model_start(Fmu* fmu, ModelData* m) {
  (void)fmu;
  m->real_in = m->real_out = 0.5;
  m->int_in = m->int_out = 3;
  m->bool_in = m->bool_out = fmi2True;
  m->enum_in = m->enum_out = 2;
  /* string_in and string_out: "hello" (kVars) */
}

static fmi2Status model_check(Fmu* fmu, ModelData* m) {
  (void)fmu;
  (void)m;
  return fmi2OK;
}

static fmi2Status echo(Fmu* fmu, ModelData* m) {
  m->real_out = m->real_in;
  m->int_out = m->int_in;
  m->bool_out = m->bool_in;
  m->enum_out = m->enum_in;
  return fmu_set_string(fmu, &m->string_out, m->string_in) ? fmi2OK : fmi2Fatal;
}

static void model_init(Fmu* fmu, ModelData* m) { (void)echo(fmu, m); }

static fmi2Status model_step(Fmu* fmu, ModelData* m, double t, double h) {
  (void)t;
  (void)h;
  return echo(fmu, m);
}

static void model_inputs_changed(Fmu* fmu, ModelData* m) {
  (void)fmu;
  (void)m;
}

#include "fmu2_frame_impl.h"
