/* The shared FMI 3.0 co-simulation frame of Doppel's test FMUs, part 1 (declarations).
 *
 * A model file includes this header first, then defines:
 *   - MODEL_TOKEN (the instantiationToken of its modelDescription.xml),
 *   - the struct ModelData (its variables; strings as char*, binaries as Fmu3Binary, both
 *     owned by the frame; arrays as C arrays),
 *   - kVars[], one Fmu3Var per variable (value reference, type, kind, offset, element count),
 *   - the hooks model_start, model_check, model_init, model_step, model_inputs_changed,
 * and includes fmu3_frame_impl.h last, which defines every function of the FMI 3.0 API.
 *
 * The frame heap-allocates each instance (several instances at once are independent), checks
 * the instantiation token, the order of calls, the causality of each variable that is set, the
 * type of each value reference and that nValues equals the number of values the value
 * references need (an array counts its elements); errors go through the log-message callback,
 * never to stdout. */
#ifndef DOPPEL_TEST_FMU3_FRAME_H
#define DOPPEL_TEST_FMU3_FRAME_H

#include <stddef.h>

#include "fmi3_api.h"

typedef enum {
  kFloat32,
  kFloat64,
  kInt8,
  kUInt8,
  kInt16,
  kUInt16,
  kInt32,
  kUInt32,
  kInt64,
  kUInt64,
  kBoolean,
  kString,
  kBinary
} Fmu3Type;

/* Who may set a variable, and when:
 *   kIndependent  the independent variable time (value reference 0): never;
 *   kCalculated   output with initial="calculated": never (fmi3Error);
 *   kExact        output with initial="exact" (a start value): before fmi3ExitInitializationMode;
 *   kParameter    causality="parameter", variability="fixed": before fmi3ExitInitializationMode;
 *   kInput        causality="input": before initialization and in Step Mode. */
typedef enum { kIndependent, kCalculated, kExact, kParameter, kInput } Fmu3Kind;

typedef struct {
  fmi3Byte* data; /* never NULL once started */
  size_t size;
} Fmu3Binary;

typedef struct {
  const char* name;
  fmi3ValueReference vr;
  Fmu3Type type;
  Fmu3Kind kind;
  size_t offset;          /* offsetof(ModelData, field) */
  size_t count;           /* number of elements (1 for a scalar; strings and binaries are scalars) */
  const char* text_start; /* start of a String (the text) or a Binary (hex digits), else NULL */
} Fmu3Var;

typedef struct Fmu Fmu;

/* Logs through the importer's log-message callback. */
static void fmu_log(Fmu* fmu, fmi3Status status, const char* category, const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Replace *slot by a copy of value; return 0 (after logging) when out of memory. */
static int fmu_set_string(Fmu* fmu, char** slot, const char* value);
static int fmu_set_binary(Fmu* fmu, Fmu3Binary* slot, const fmi3Byte* data, size_t size);
/* The instance's current time (the start time until the first step, then the end of the last
 * successful step). */
static double fmu_time(const Fmu* fmu);

#endif
