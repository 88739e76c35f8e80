/* pmap.c - the "pmap" area of fastconc._core (being written; registers nothing
 * yet). */
#include "fastconc.h"

const fc_area fc_area_pmap = {"pmap", NULL, NULL, NULL, NULL, NULL};
