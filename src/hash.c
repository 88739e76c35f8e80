/* hash.c - the "hash" area of fastconc._core (being written; registers nothing
 * yet). */
#include "fastconc.h"

const fc_area fc_area_hash = {"hash", NULL, NULL, NULL, NULL, NULL};
