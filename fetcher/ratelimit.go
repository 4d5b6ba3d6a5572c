package fetcher

import "context"

// waitUpload blocks until n more bytes of blocks may be sent to peers
// under Options.UploadRateLimit, or ctx ends. Not implemented yet: uploads
// are not limited.
func (c *Client) waitUpload(ctx context.Context, n int) error { return nil }
