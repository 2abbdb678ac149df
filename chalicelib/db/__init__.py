"""The single DynamoDB table: definition, base model, keys, transactions, audit."""
