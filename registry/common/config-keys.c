#include "registry/common/config-keys.h"

#include <stdbool.h>
#include <string.h>

const char *
reg_config_unknown_key(json_t *obj, const char *const *known)
{
        const char *key;
        json_t *v;

        json_object_foreach(obj, key, v)
        {
                bool ok = false;

                for (size_t i = 0; known[i] && !ok; i++)
                        ok = strcmp(known[i], key) == 0;
                if (!ok)
                        return key;
        }
        return NULL;
}
