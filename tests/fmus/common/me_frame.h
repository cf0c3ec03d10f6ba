/* The model-exchange frame of Doppel's test FMUs, part 1: what a model defines, the same for
 * FMI 2.0 and FMI 3.0 (the frames fmu2_me_frame_impl.h and fmu3_me_frame_impl.h put the API of
 * each version around it).
 *
 * A model file includes this header first, defines MODEL_GUID (FMI 2) or MODEL_TOKEN (FMI 3),
 * includes its model (e.g. bouncing_ball_me.h), then the frame of its version. The model
 * defines:
 *   - ME_NX (>= 1) and ME_NZ (>= 0): its numbers of continuous states and event indicators,
 *   - the struct ModelData and kVars[], one MeVar per variable (all Float64 / Real),
 *   - the hooks below.
 * Each instance is heap-allocated (several at once are independent); the frame checks the
 * guid or token, the order of calls (the state machine of the standard: Instantiated,
 * Initialization Mode, Event Mode, Continuous-Time Mode, Terminated), the array sizes and who
 * may set what. Errors go through the logger, never to stdout. */
#ifndef DOPPEL_TEST_ME_FRAME_H
#define DOPPEL_TEST_ME_FRAME_H

#include <stddef.h>

/* Who may set a variable: kCalculated never (derivatives, outputs, the independent time);
 * kExact (states with a start value) and kParameter before the end of initialization. */
typedef enum { kMeCalculated, kMeExact, kMeParameter } MeKind;

typedef struct {
  const char* name;
  unsigned vr;
  MeKind kind;
  size_t offset; /* offsetof(ModelData, field), a double; for vr 0 in FMI 3 (time) unused */
} MeVar;

/* The hooks of a model (static functions of the model header):
 *   void model_start(ModelData* m);                      start values
 *   const char* model_check(const ModelData* m);         NULL, or why the start values are wrong
 *   void model_init(ModelData* m, double t);             at the end of initialization, at time t
 *   void model_get_states(const ModelData* m, double x[ME_NX]);
 *   void model_set_states(ModelData* m, const double x[ME_NX]);
 *   void model_derivatives(ModelData* m, double t, double dx[ME_NX]);  also updates the
 *                                                        derivative variables
 *   void model_indicators(const ModelData* m, double t, double z[ME_NZ]);
 *   void model_event(ModelData* m, double t, int* states_changed, int* terminate,
 *                    double* next_time);                 one update in Event Mode; *next_time < 0:
 *                                                        no time event ahead */

#endif
