/* The header stands alone (no prior includes) and survives a double include. */
#include "kitsu.h"
#include "kitsu.h"

int main(void) {
    kitsu_progress_cb cb = 0;
    kitsu_client *client = 0;
    (void)cb;
    (void)client;
    return kitsu_abi_version() == KITSU_ABI_VERSION ? 0 : 1;
}
