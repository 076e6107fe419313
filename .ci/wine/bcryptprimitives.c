/*
 * bcryptprimitives.dll for Wine 8.0, which lacks ProcessPrng: Go's Windows
 * runtime (1.22 and later) imports it for all its random numbers and will not
 * start without it. Real Windows (10 and later) has it. .ci/wine.sh builds
 * this with mingw-w64 and puts it in the Wine prefix's system32; it is used
 * for the tests under Wine only and never shipped.
 */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
