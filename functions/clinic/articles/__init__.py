"""Articles: the published JSON in S3, served to the site (list, by slug, tags, feed, sitemap)."""
