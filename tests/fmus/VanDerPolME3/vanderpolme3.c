/* VanDerPolME3: the FMI 3.0 model-exchange Van der Pol oscillator with time events (see
 * ../common/van_der_pol_me.h for its variables and behaviour, ../common/fmu3_me_frame_impl.h
 * for the API around it). */
#include "me_frame.h"

#define MODEL_TOKEN "{5c6d2a1e-8a4b-4d0e-9b1f-2b7d0c9e1c03}"

#include "van_der_pol_me.h"

#include "fmu3_me_frame_impl.h"
