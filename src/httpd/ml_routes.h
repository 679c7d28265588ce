/* The content handler for `SetHandler magiclink`. */
#ifndef ML_ROUTES_H
#define ML_ROUTES_H

#include "httpd.h"

int ml_handler(request_rec *r);

#endif
