package v1alpha1

import (
	"slices"
	"strings"
)

// Purpose is the use a file was uploaded for, as Stripe names it. The purpose decides
// whether a FileLink may point at the file.
//
// +kubebuilder:validation:Enum=account_requirement;additional_verification;business_icon;business_logo;customer_signature;dispute_evidence;document_provider_identity_document;finance_report_run;financial_account_statement;identity_document;identity_document_downloadable;issuing_regulatory_reporting;pci_document;platform_terms_of_service;selfie;sigma_scheduled_query;tax_document_user_upload;terminal_android_apk;terminal_reader_splashscreen;terminal_wifi_certificate;terminal_wifi_private_key
type Purpose string

// The purposes Stripe accepts for a file. The enum marker above must list the same set.
const (
	PurposeAccountRequirement           Purpose = "account_requirement"
	PurposeAdditionalVerification       Purpose = "additional_verification"
	PurposeBusinessIcon                 Purpose = "business_icon"
	PurposeBusinessLogo                 Purpose = "business_logo"
	PurposeCustomerSignature            Purpose = "customer_signature"
	PurposeDisputeEvidence              Purpose = "dispute_evidence"
	PurposeDocumentProviderIdentityDoc  Purpose = "document_provider_identity_document"
	PurposeFinanceReportRun             Purpose = "finance_report_run"
	PurposeFinancialAccountStatement    Purpose = "financial_account_statement"
	PurposeIdentityDocument             Purpose = "identity_document"
	PurposeIdentityDocumentDownloadable Purpose = "identity_document_downloadable"
	PurposeIssuingRegulatoryReporting   Purpose = "issuing_regulatory_reporting"
	PurposePCIDocument                  Purpose = "pci_document"
	PurposePlatformTermsOfService       Purpose = "platform_terms_of_service"
	PurposeSelfie                       Purpose = "selfie"
	PurposeSigmaScheduledQuery          Purpose = "sigma_scheduled_query"
	PurposeTaxDocumentUserUpload        Purpose = "tax_document_user_upload"
	PurposeTerminalAndroidAPK           Purpose = "terminal_android_apk"
	PurposeTerminalReaderSplashscreen   Purpose = "terminal_reader_splashscreen"
	PurposeTerminalWifiCertificate      Purpose = "terminal_wifi_certificate"
	PurposeTerminalWifiPrivateKey       Purpose = "terminal_wifi_private_key"
)

// LinkablePurposes are the purposes Stripe allows file links for, in Stripe's order.
// Files with any other purpose hold material (identity documents, keys) that must not
// be handed out by URL.
var LinkablePurposes = []Purpose{
	PurposeBusinessIcon,
	PurposeBusinessLogo,
	PurposeCustomerSignature,
	PurposeDisputeEvidence,
	PurposeFinanceReportRun,
	PurposeFinancialAccountStatement,
	PurposeIdentityDocumentDownloadable,
	PurposeIssuingRegulatoryReporting,
	PurposePCIDocument,
	PurposeSelfie,
	PurposeSigmaScheduledQuery,
	PurposeTaxDocumentUserUpload,
	PurposeTerminalReaderSplashscreen,
}

// Linkable reports whether a FileLink may point at a file of this purpose.
func (p Purpose) Linkable() bool {
	return slices.Contains(LinkablePurposes, p)
}

// LinkablePurposeList is the linkable purposes joined for error messages.
func LinkablePurposeList() string {
	names := make([]string, len(LinkablePurposes))
	for i, p := range LinkablePurposes {
		names[i] = string(p)
	}
	return strings.Join(names, ", ")
}
