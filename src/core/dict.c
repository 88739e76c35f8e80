/* dict.c - small helpers that fill the dicts info() returns, for every
 * area.  Kept out of module.c so that the areas, which module.c lists, do
 * not call back into it.
 */
#include "core/fastconc.h"

int
fc_dict_set_steal(PyObject *d, const char *key, PyObject *v)
{
    if (v == NULL) {
        return -1;
    }
    int rc = PyDict_SetItemString(d, key, v);
    Py_DECREF(v);
    return rc;
}

int
fc_dict_set_str(PyObject *d, const char *key, const char *value)
{
    return fc_dict_set_steal(d, key, PyUnicode_FromString(value));
}
