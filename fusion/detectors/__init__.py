"""One small module per behaviour; each decides what it sees and tells the alert engine."""
