"""The weekly management digest: figures (stats), e-mail (render), exactly-once delivery."""
