"""Commentary backends behind one seam (:class:`CommentaryBackend`)."""
