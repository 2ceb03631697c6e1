/*
 * Force-included (-include) by scripts/prebuild.sh into the glibc prebuilt binaries only.
 * glibc 2.34 moved pthread_create, pthread_join and pthread_setname_np from libpthread into libc
 * under a new symbol version; binding them to their first versions, which every glibc since has kept, lets binaries
 * built against a current glibc load on older ones (RHEL 8 has 2.28). Versions are matched by
 * name at load time, so an older glibc finds them in libpthread, a newer one in libc.
 */
#if defined(__x86_64__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.2.5");
__asm__(".symver pthread_setname_np,pthread_setname_np@GLIBC_2.12");
#elif defined(__aarch64__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.17");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.17");
__asm__(".symver pthread_setname_np,pthread_setname_np@GLIBC_2.17");
#endif
