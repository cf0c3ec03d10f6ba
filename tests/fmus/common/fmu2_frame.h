/* The shared FMI 2.0 co-simulation frame of Doppel's test FMUs, part 1 (declarations).
 *
 * A model file includes this header first, then defines:
 *   - MODEL_GUID (the guid of its modelDescription.xml),
 *   - the struct ModelData (its variables; strings as char*, owned by the frame),
 *   - kVars[], one Fmu2Var per variable (value reference, type, kind, offset in ModelData),
 *   - the hooks model_start, model_check, model_init, model_step, model_inputs_changed,
 * and includes fmu2_frame_impl.h last, which defines every function of the FMI 2.0 API.
 *
 * The frame heap-allocates each instance (several instances at once are independent), checks
 * the guid, the order of calls (the state machine of the standard) and the causality of each
 * variable that is set; errors go through the logger callback, never to stdout. */
#ifndef DOPPEL_TEST_FMU2_FRAME_H
#define DOPPEL_TEST_FMU2_FRAME_H

#include <stddef.h>

#include "fmi2_api.h"

typedef enum { kReal, kInteger, kBoolean, kString } Fmu2Type;

/* Who may set a variable, and when:
 *   kCalculated  output (or local) with initial="calculated": never (fmi2Error);
 *   kExact       output with initial="exact" (a start value): before fmi2ExitInitializationMode;
 *   kParameter   causality="parameter", variability="fixed": before fmi2ExitInitializationMode;
 *   kInput       causality="input": before initialization and at every communication point. */
typedef enum { kCalculated, kExact, kParameter, kInput } Fmu2Kind;

typedef struct {
  const char* name;
  fmi2ValueReference vr;
  Fmu2Type type;
  Fmu2Kind kind;
  size_t offset;            /* offsetof(ModelData, field): double, int, int (fmi2Boolean) or char* */
  const char* string_start; /* start value of a String variable (the frame copies it), else NULL */
} Fmu2Var;

typedef struct Fmu Fmu;

/* Logs through the importer's logger (status fmi2OK/fmi2Warning... and category as given). */
static void fmu_log(Fmu* fmu, fmi2Status status, const char* category, const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Replaces the string *slot by a copy of value (memory of the importer's allocateMemory).
 * Returns 0 (after logging) when out of memory. */
static int fmu_set_string(Fmu* fmu, char** slot, const char* value);
/* The instance's current time (the start time until the first step, then the end of the last
 * successful step). */
static double fmu_time(const Fmu* fmu);

#endif
