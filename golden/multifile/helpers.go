package multifile

// Active reports whether s belongs to an account: a file without models.
func Active(s Session) bool { return s.AccountID != 0 }
