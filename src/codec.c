/* codec.c - the "codec" area of fastconc._core (being written; registers nothing
 * yet). */
#include "fastconc.h"

const fc_area fc_area_codec = {"codec", NULL, NULL, NULL, NULL, NULL};
