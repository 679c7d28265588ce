/* The module's version, as magiclink_build_info reports it. A packager may
 * set it on the compiler's command line (-DML_VERSION=\"1.2.3-1\"). */
#ifndef ML_VERSION_H
#define ML_VERSION_H

#ifndef ML_VERSION
#define ML_VERSION "0.1.0"
#endif

#endif
