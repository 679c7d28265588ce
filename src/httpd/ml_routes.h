/* The content handler for `SetHandler magiclink`. */
#ifndef ML_ROUTES_H
#define ML_ROUTES_H

#include "httpd.h"

#define ML_HANDLER "magiclink"

int ml_handler(request_rec *r);
/* translate_name and map_to_storage: no <Directory> walk for the handler. */
int ml_translate(request_rec *r);
int ml_map_to_storage(request_rec *r);

#endif
