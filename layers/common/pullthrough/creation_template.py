"""The repository creation template a rule request may carry: ECR's CreateRepositoryCreationTemplate fields."""

from __future__ import annotations

import json
from types import UnionType
from typing import Annotated, Any, Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from pullthrough.request_fields import RoleArn, StrictModel
from pullthrough.validation import described

_TAG_MUTABILITY = Literal["MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"]


class EncryptionConfiguration(StrictModel):
    """The encryption configuration to associate with the repository creation template."""

    encryptionType: Literal["AES256", "KMS", "KMS_DSSE"] = Field(
        description="The encryption type to use: AES256 (Amazon S3-managed keys), KMS or KMS_DSSE (a KMS key)."
    )
    kmsKey: (
        Annotated[
            str,
            Field(max_length=2048, pattern=r"^$|arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[a-z0-9-]+"),
            described("must be a KMS key ARN (arn:aws:kms:<region>:<12-digit account id>:key/<key id>)"),
        ]
        | None
    ) = Field(
        default=None,
        title="KMS key",
        description="If you use the KMS encryption type, specify the KMS key to use for encryption. The full ARN of "
        "the KMS key must be specified. The key must exist in the same Region as the repository. If no key is "
        "specified, the default Amazon Web Services managed KMS key for Amazon ECR will be used.",
    )


class Tag(StrictModel):
    """A tag for the repositories the template creates: a key and a value, both of which you define."""

    Key: Annotated[str, Field(min_length=1, max_length=128)] = Field(
        description="One part of a key-value pair that make up a tag (1-128 characters)."
    )
    Value: Annotated[str, Field(max_length=256)] = Field(
        description="A value acts as a descriptor within a tag category (key); at most 256 characters."
    )


class TagMutabilityExclusionFilter(StrictModel):
    """A filter that specifies which image tags should be excluded from the image tag mutability setting."""

    filterType: Literal["WILDCARD"] = Field(
        description="The type of filter to apply for excluding image tags from mutability settings."
    )
    filter: Annotated[
        str,
        Field(min_length=1, max_length=128, pattern=r"^[0-9a-zA-Z._*-]{1,128}$"),
        described("must be 1-128 characters: letters, digits, '.', '_', '-' and the wildcard '*'"),
    ] = Field(description="The filter value used to match image tags for exclusion from mutability settings.")


# Keep cached repositories from growing forever: expire untagged images after 14 days and keep at most the
# 100 most recently pulled-through images per repository.
DEFAULT_LIFECYCLE_POLICY = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "Expire untagged images 14 days after they were cached",
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 14,
            },
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": "Keep at most 100 images per cached repository",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 100},
            "action": {"type": "expire"},
        },
    ]
}


def _policy_document(text: str | None, key: str, kind: type | UnionType, wanted: str) -> str | None:
    """``text`` if it is a JSON object whose ``key`` is a ``kind`` (a non-empty one for a list); a plain-worded
    error saying ``wanted`` otherwise."""
    if text is None:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    found = document.get(key) if isinstance(document, dict) else None
    if not isinstance(found, kind) or (isinstance(found, list) and not found):
        raise PydanticCustomError("policy_document", "must be " + wanted)
    return text


class CreationTemplate(StrictModel):
    """ECR's CreateRepositoryCreationTemplate fields except ``prefix`` and ``appliedFor``."""

    description: Annotated[str, Field(max_length=256)] | None = Field(
        default=None, description="A description for the repository creation template (at most 256 characters)."
    )
    encryptionConfiguration: EncryptionConfiguration | None = Field(
        default=None, description="The encryption configuration to use for repositories created using the template."
    )
    resourceTags: list[Tag] | None = Field(
        default=None,
        description="The metadata to apply to the repository to help you categorize and organize. Needs customRoleArn.",
    )
    imageTagMutability: _TAG_MUTABILITY | None = Field(
        default=None,
        description="The tag mutability setting for the repository. If this parameter is omitted, the default "
        "setting of MUTABLE will be used which will allow image tags to be overwritten. If IMMUTABLE is specified, "
        "all image tags within the repository will be immutable which will prevent them from being overwritten.",
    )
    imageTagMutabilityExclusionFilters: (
        Annotated[
            list[TagMutabilityExclusionFilter], Field(min_length=1, max_length=5), described("must list 1-5 filters")
        ]
        | None
    ) = Field(
        default=None,
        description="A list of filters that specify which image tags should be excluded from the repository "
        "creation template's image tag mutability setting. Only with imageTagMutability *_WITH_EXCLUSION.",
    )
    repositoryPolicy: Annotated[str, Field(max_length=10240)] | None = Field(
        default=None,
        description="The repository policy to apply to repositories created using the template (a JSON policy "
        "document as a string, at most 10,240 characters).",
    )
    lifecyclePolicy: Annotated[str, Field(max_length=30720)] | None = Field(
        default=None,
        description="The lifecycle policy to use for repositories created using the template (a JSON document with "
        '"rules", as a string, at most 30,720 characters).',
    )
    customRoleArn: RoleArn | None = Field(
        default=None,
        description="The ARN of the role to be assumed by Amazon ECR. This role must be in the same account as the "
        "registry that you are configuring. Needed when the template uses KMS encryption or resourceTags.",
    )

    @field_validator("lifecyclePolicy")
    @classmethod
    def _lifecycle_policy(cls, value: str | None) -> str | None:
        return _policy_document(value, "rules", list, 'a JSON object with a non-empty "rules" array')

    @field_validator("repositoryPolicy")
    @classmethod
    def _repository_policy(cls, value: str | None) -> str | None:
        return _policy_document(value, "Statement", list | dict, 'a JSON object with a "Statement" (a policy document)')

    @model_validator(mode="after")
    def _role_when_needed(self) -> Self:
        # ECR needs a role to apply KMS encryption or tags to repositories it creates on a pull.
        uses_kms = self.encryptionConfiguration is not None and self.encryptionConfiguration.encryptionType != "AES256"
        if (uses_kms or self.resourceTags) and not self.customRoleArn:
            raise ValueError("customRoleArn is required when the template uses KMS encryption or resourceTags")
        exclusions = self.imageTagMutability in ("IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION")
        if exclusions != bool(self.imageTagMutabilityExclusionFilters):
            raise ValueError(
                "imageTagMutabilityExclusionFilters go with imageTagMutability *_WITH_EXCLUSION, and only with it"
            )
        return self

    @classmethod
    def default(cls) -> CreationTemplate:
        """The template applied when a request names none: mutable tags and a bounded lifecycle."""
        return cls(
            description="Created by pullthrough for pull-through cache repositories",
            imageTagMutability="MUTABLE",
            lifecyclePolicy=json.dumps(DEFAULT_LIFECYCLE_POLICY, separators=(",", ":")),
        )

    def to_ecr(self) -> dict[str, Any]:
        """The fields as ECR takes them (unset ones left out)."""
        return self.model_dump(exclude_none=True)
