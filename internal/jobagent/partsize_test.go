package jobagent

import "testing"

// S3's multipart limits (Amazon S3 User Guide, "Amazon S3 multipart upload limits"): parts of at least
// 5 MiB (but the last), at most 10,000 parts, objects up to 5 TiB.
func TestUploadPartSizeStaysWithinS3sLimits(t *testing.T) {
	const tib = int64(1) << 40
	for _, tc := range []struct{ configured, size int64 }{
		{0, 1}, {0, 5 << 30}, {0, 5 * tib}, {1 << 20, 100 << 20}, {5 << 20, 5 * tib}, {64 << 20, 700 << 30},
	} {
		p := uploadPartSize(tc.configured, tc.size)
		if p < 5<<20 || p > 5<<30 {
			t.Errorf("part size %d for %d bytes: outside 5 MiB to 5 GiB", p, tc.size)
		}
		if parts := (tc.size + p - 1) / p; parts > 10000 {
			t.Errorf("%d bytes in parts of %d: %d parts, S3 allows 10,000", tc.size, p, parts)
		}
	}
	if p := uploadPartSize(0, 1); p != 64<<20 {
		t.Errorf("default part size %d, want 64 MiB", p)
	}
}
