"""venues/okx"""
