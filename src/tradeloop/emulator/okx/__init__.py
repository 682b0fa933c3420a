"""emulator/okx"""
