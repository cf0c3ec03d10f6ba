/* BouncingBallME2: the FMI 2.0 model-exchange bouncing ball (see ../common/bouncing_ball_me.h
 * for its variables and behaviour, ../common/fmu2_me_frame_impl.h for the API around it). */
#include "me_frame.h"

#define MODEL_GUID "{5c6d2a1e-8a4b-4d0e-9b1f-2b7d0c9e1b02}"

#include "bouncing_ball_me.h"

#include "fmu2_me_frame_impl.h"
